"""Indexes for the reads at 100,000 organisations (issue 19, docs/PERFORMANCE.md section 7.5),
declared on the tables too (projections.search_tables, projections.matching_tables) so a
rebuild's shadow copy has them.

- Directory search's place filters read each filter's organisations from an index alone (no
  table rows): the CPV stems as a range of text (`varchar_pattern_ops` on PostgreSQL, whose
  database collation is not C, so `LIKE '45%'` can use it), the regions with their members.
- Its CPV division facet reads each found member's stems from an index alone.
- A lot's matches read each candidate's flags and name from an index alone (not the member's
  row, wide with its JSON codes); a member's recommendations read the lots sharing its
  prefixes from an index alone.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_directory_search_cpv_stem_pattern",
        "directory_search_cpv",
        ["cpv_stem", "organisation_id"],
        postgresql_ops={"cpv_stem": "varchar_pattern_ops"},
    )
    op.create_index(
        "ix_directory_search_cpv_organisation_id_stem",
        "directory_search_cpv",
        ["organisation_id", "cpv_stem"],
    )
    op.create_index(
        "ix_directory_search_regions_region_organisation_id",
        "directory_search_regions",
        ["region", "organisation_id"],
    )
    op.create_index(
        "ix_match_members_organisation_id_flags",
        "match_members",
        ["organisation_id", "member", "listed", "name"],
    )
    op.create_index(
        "ix_match_lot_prefixes_prefix_lot", "match_lot_prefixes", ["prefix", "tender_id", "lot_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_match_lot_prefixes_prefix_lot", table_name="match_lot_prefixes")
    op.drop_index("ix_match_members_organisation_id_flags", table_name="match_members")
    op.drop_index(
        "ix_directory_search_regions_region_organisation_id", table_name="directory_search_regions"
    )
    op.drop_index("ix_directory_search_cpv_organisation_id_stem", table_name="directory_search_cpv")
    op.drop_index("ix_directory_search_cpv_stem_pattern", table_name="directory_search_cpv")
