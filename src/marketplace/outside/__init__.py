"""Outside opportunities (issue 16): tenders published on national portals (Find a Tender,
Contracts Finder), brought in as OCDS releases. Pure domain code."""
