"""`tradehall demo`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from tradehall.cli.common import _settings, _with_services
from tradehall.settings import Settings


def _seed_demo(settings: Settings) -> None:
    from tradehall.dev.demo import DemoReport, seed_demo
    from tradehall.dev.demo_awards import read_side_and_mail
    from tradehall.membership.evidence.stores import evidence_files
    from tradehall.membership.registration import registrar_for

    if settings.is_production:
        raise click.ClickException("demo data is not for production")

    async def seed(services: Any) -> DemoReport:
        # After each context's reference data (the first dues schedule): the organisations.
        # Then the quality marks, their evidence in the store the API reads it from; then the
        # buyers' verifications, the members' listings, the councils' tenders and their bids;
        # tenders evaluated and awarded, their summaries sent (the read side's follower queues
        # them, the mail transport sends them: the award notice waits for them), contracts.
        return await seed_demo(
            registrar_for(services),
            services.engine,
            services.applications["marks"],
            services.applications["marketplace"],
            evidence_files(settings),
            services.applications["bids"],
            services.sealing,
            timedelta(seconds=settings.bid_opening_margin_seconds),
            read_side_and_mail(services, settings.mail_transport),
        )

    report = _with_services(settings, seed, read_side=False)
    what = f"seeded {report.organisations} organisations" if report.created else "present"
    click.echo(f"Demo data {what}.")
    click.echo(f"  staff:  {report.staff_email} / {report.staff_password}")
    click.echo(f"  member: {report.member_email} / {report.member_password}")
    for state, name, number in report.marks:
        if state.startswith("under assessment"):
            click.echo(f"  quality mark application {number} ({name}): {state}")
        else:
            click.echo(f"  quality mark {number} ({name}): {state}; see /api/v1/marks/{number}")
    for name, email, state in report.buyers:
        click.echo(f"  buyer:  {email} / {report.buyer_password} ({name}: {state})")
    click.echo("  try:    GET /api/v1/buyers (the buyers, and which are verified)")
    click.echo(
        f"  try:    GET /api/v1/listings?cpv={report.try_cpv}"
        f" (of {report.listings} demo listings, one withdrawn)"
    )
    for state, title, tender_id, buyer in report.tenders:
        click.echo(f"  tender: {tender_id} {title} ({buyer}): {state}")
    click.echo(
        f"  try:    GET /api/v1/tenders?cpv={report.try_tender_cpv}"
        " (the tender board: published tenders, never a draft)"
    )
    click.echo(
        f"  try:    GET /api/v1/tenders/{report.active_tender}"
        " (two lots, the answered question, the amendment)"
    )
    email, organisation_id = report.tender_buyer
    own = (
        f"GET /api/v1/organisations/{organisation_id}/tenders"
        if organisation_id is not None
        else "GET /api/v1/organisations/{its organisation id}/tenders"
    )
    click.echo(
        f"  try:    sign in as {email} / {report.buyer_password}, then {own}"
        " (the council's own tenders, the draft too)"
    )
    click.echo(
        "  try:    GET /api/v1/directory/search?q=catering&region=TLE"
        " (full-text search: ranked, keyset pages, facet counts)"
    )
    click.echo("  try:    GET /api/v1/tenders?q=catering (the tender board's text search)")
    click.echo(
        f"  try:    sign in as {email} / {report.buyer_password}, then {own}"
        f"/{report.active_tender}/lots/lot-1/matches (the members that fit the lot, and why)"
    )
    for bidder_email, name, bidder_id, bids in report.bidders:
        organisation = f", organisation {bidder_id}" if bidder_id is not None else ""
        click.echo(
            f"  bidder: {bidder_email} / {report.member_password} ({name}{organisation}): {bids}"
        )
    click.echo(
        "  try:    sign in as a bidder, then GET /api/v1/bids"
        " (its organisation's bids: sealed, nobody else learns of them before opening)"
    )
    click.echo(
        "  try:    sign in as a bidder, then GET /api/v1/organisations/{its id}"
        "/recommended-tenders (the open lots that fit it, and why)"
    )
    click.echo(
        f"  try:    sign in as {email} / {report.buyer_password}, then"
        f" GET /api/v1/tenders/{report.opened_tender}/bids"
        " (the bids as opened; the active tender's are the same 404 until its opening)"
    )
    for label, text in report.awards:
        click.echo(f"  {label + ':':<7} {text}")


@click.command()
def demo() -> None:
    """Seed demo data: dozens of organisations, applications and decisions, buyers, listings,
    tenders in every state, sealed bids (and a tender whose bids were opened), tenders evaluated
    and awarded (one contracted, with delivery reports; one in standstill), a staff user."""
    settings = _settings()
    _seed_demo(settings)
