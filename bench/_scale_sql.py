"""The same-run baselines of `bench.scale_reads`: each read answered by hand-written SQL (psycopg,
no ORM, no Python work beyond fetching), the least a query needs to give the same answer's
substance. Where the service's read does more (the matching score's five parts, the proxy-value
arithmetic per day), the baseline does the core of it and says what it leaves out.
"""

from __future__ import annotations

# Directory search, two filters (a CPV code: itself, under it or above it; a region: itself,
# within it or containing it), a page of 20 by name with each member's regions and profile
# codes; then the total and the facets (legal form, ITL1 region, CPV division) in one statement.
FOUND = """
WITH found AS (
  SELECT s.organisation_id, s.name, s.legal_form
  FROM directory_search s
  WHERE s.listed
    AND EXISTS (SELECT 1 FROM directory_search_cpv c
                WHERE c.organisation_id = s.organisation_id
                  AND (c.cpv_stem LIKE %(like)s OR c.cpv_stem = ANY(%(above)s)))
    AND EXISTS (SELECT 1 FROM directory_search_regions r
                WHERE r.organisation_id = s.organisation_id AND r.region = ANY(%(regions)s))
)
"""
DIRECTORY_PAGE = (
    FOUND
    + """
SELECT f.organisation_id, f.name,
       (SELECT array_agg(r.region ORDER BY r.region) FROM directory_search_regions r
         WHERE r.organisation_id = f.organisation_id),
       (SELECT array_agg(c.cpv_code ORDER BY c.cpv_code) FROM directory_search_cpv c
         WHERE c.organisation_id = f.organisation_id AND c.source = 'profile')
FROM found f ORDER BY f.name, f.organisation_id LIMIT 21
"""
)
DIRECTORY_FACETS = (
    FOUND
    + """
SELECT 'legal_form', f.legal_form, count(*) FROM found f GROUP BY f.legal_form
UNION ALL
SELECT 'region', substr(r.region, 1, 3), count(DISTINCT r.organisation_id)
FROM directory_search_regions r JOIN found f USING (organisation_id) GROUP BY 2
UNION ALL
SELECT 'division', substr(c.cpv_stem, 1, 2), count(DISTINCT c.organisation_id)
FROM directory_search_cpv c JOIN found f USING (organisation_id) GROUP BY 2
"""
)

# A lot's matches: members (ever admitted, listed now) sharing a CPV prefix with the lot, not its
# buyer, serving its regions when it is restricted (by ITL1: coarser than the service's
# hierarchy), ranked by the deepest shared prefix then name; top 20. Leaves out the service's
# other score parts (capacity, track record, listings, mark) and the excluded counts.
LOT_MATCHES = """
WITH lot AS (
  SELECT buyer_id, restricted FROM match_lots
  WHERE tender_id = %(tender_id)s AND lot_id = %(lot_id)s
), wanted AS (
  SELECT DISTINCT substr(region, 1, 3) AS itl1 FROM match_tender_regions
  WHERE tender_id = %(tender_id)s
), candidates AS (
  SELECT p.organisation_id, max(length(p.prefix)) AS depth
  FROM match_lot_prefixes lp JOIN match_member_prefixes p ON p.prefix = lp.prefix
  WHERE lp.tender_id = %(tender_id)s AND lp.lot_id = %(lot_id)s
  GROUP BY p.organisation_id
)
SELECT m.organisation_id, m.name, c.depth
FROM candidates c JOIN match_members m USING (organisation_id) CROSS JOIN lot
WHERE m.member AND m.listed AND m.organisation_id <> lot.buyer_id
  AND (NOT lot.restricted OR m.organisation_id IN (
        SELECT r.organisation_id FROM match_member_regions r
        WHERE substr(r.region, 1, 3) IN (SELECT itl1 FROM wanted)))
ORDER BY c.depth DESC, m.name LIMIT 20
"""

# A member's recommendations: open lots (active, deadline ahead) sharing a CPV prefix with it,
# not its own, in its regions when restricted (by ITL1), deepest prefix first; top 20. Leaves out
# outside opportunities and the other score parts.
RECOMMENDED = """
SELECT l.tender_id, l.lot_id, l.tender_title, l.lot_title, l.deadline,
       max(length(lp.prefix)) AS depth
FROM match_member_prefixes p
JOIN match_lot_prefixes lp ON lp.prefix = p.prefix
JOIN match_lots l ON l.tender_id = lp.tender_id AND l.lot_id = lp.lot_id
WHERE p.organisation_id = %(organisation_id)s
  AND l.status = 'active' AND l.deadline > now() AND l.buyer_id <> %(organisation_id)s
  AND (NOT l.restricted OR EXISTS (
        SELECT 1 FROM match_tender_regions tr JOIN match_member_regions r
          ON substr(r.region, 1, 3) = substr(tr.region, 1, 3)
        WHERE tr.tender_id = l.tender_id AND r.organisation_id = %(organisation_id)s))
GROUP BY l.tender_id, l.lot_id, l.tender_title, l.lot_title, l.deadline
ORDER BY depth DESC, l.deadline LIMIT 20
"""

# The impact summary: contracts (count, value, awarded, estimate) per currency, all time and by
# London year; confirmed delivered quantities per measure, all time and by year. Leaves out the
# proxy values (a rate per measure and day: the service's Python does it).
IMPACT_SUMMARY_CONTRACTS = """
SELECT date_part('year', signed_at AT TIME ZONE 'Europe/London')::int AS year, currency,
       count(*), sum(value_minor), sum(awarded_minor), sum(estimated_minor)
FROM impact_contracts
GROUP BY GROUPING SETS ((currency), (1, currency))
"""
IMPACT_SUMMARY_DELIVERED = """
SELECT date_part('year', r.period_end AT TIME ZONE 'Europe/London')::int AS year,
       d->>'measure', sum((d->>'quantity')::bigint)
FROM impact_reports r, jsonb_array_elements(r.delivered::jsonb) d
WHERE r.status = 'confirmed'
GROUP BY GROUPING SETS ((2), (1, 2))
"""
# The staff report by member: each party's share of its contracts' value and its confirmed
# delivered quantities, with its name.
IMPACT_REPORT_CONTRACTS = """
SELECT p.organisation_id, min(m.name), c.currency, count(*),
       sum(c.value_minor * p.share_percent / 100), sum(c.estimated_minor * p.share_percent / 100)
FROM impact_contracts c
JOIN impact_parties p USING (contract_id)
LEFT JOIN directory_members m ON m.organisation_id = p.organisation_id
GROUP BY p.organisation_id, c.currency
"""
IMPACT_REPORT_DELIVERED = """
SELECT r.reporter_id, d->>'measure', sum((d->>'quantity')::bigint)
FROM impact_reports r, jsonb_array_elements(r.delivered::jsonb) d
WHERE r.status = 'confirmed'
GROUP BY 1, 2
"""
