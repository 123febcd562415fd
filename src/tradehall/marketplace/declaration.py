"""The marketplace, declared once: its log, Application, controllers and read side (see
`tradehall.context`)."""

from __future__ import annotations

from collections.abc import Sequence

from marketplace.application import MarketplaceApp, TenderPolicy
from marketplace.evaluation.application import StandstillPolicy
from marketplace.tender_terms import SocialValuePolicy
from projections.base import Projection
from projections.buyers import BuyersProjection
from projections.clarifications import ClarificationsProjection
from projections.contracts import ContractsProjection
from projections.impact import ImpactProjection
from projections.listings import ListingsProjection
from projections.matching import MatchingProjection
from projections.ocds import OcdsProjection
from projections.opportunities import OpportunitiesProjection
from projections.quote_requests import QuoteRequestsProjection
from projections.tenders import TendersProjection
from tradehall.api.marketplace import (
    alerts,
    buyers,
    clarifications,
    closure_days,
    contracts,
    evaluation,
    impact,
    impact_proxies,
    listings,
    matching,
    ocds,
    opportunities,
    tenders,
)
from tradehall.cli.ocds_import import OCDS_IMPORT_COMMANDS
from tradehall.context import ContextDeclaration
from tradehall.marketplace import LOG
from tradehall.marketplace.alerts.digest import alert_digest_tick, queue_alert_digests
from tradehall.marketplace.alerts.follower import AlertFollower
from tradehall.marketplace.award_notices import AwardNoticeWriter
from tradehall.marketplace.notices import TenderNoticeWriter
from tradehall.marketplace.outside.feed import ocds_feed_tick, poll_ocds_feed
from tradehall.marketplace.quote_notices import QuoteNoticeWriter
from tradehall.marketplace.working_days import working_calendar
from tradehall.membership.evidence import DirectoryFileStore, EvidenceIntake
from tradehall.membership.evidence.stores import evidence_files, staged_intake
from tradehall.services import Services
from tradehall.settings import Settings
from tradehall.store.base import Store


def tender_policy(settings: Settings) -> TenderPolicy:
    """The association's tender settings: its ocid prefix, social value minima and standstill
    (its length, and the UK's bank holidays from the holidays library)."""
    minima = {
        "public_body": settings.social_value_minimum_public_body,
        "business": settings.social_value_minimum_business,
    }
    standstill = StandstillPolicy(settings.standstill_working_days, working_calendar)
    return TenderPolicy(settings.ocid_prefix, SocialValuePolicy(minima), standstill)


def _application(env: dict[str, str], settings: Settings, store: Store) -> MarketplaceApp:
    return MarketplaceApp(env=env, policy=tender_policy(settings))


def _tender_files(services: Services) -> DirectoryFileStore:
    # Tender documents share the evidence files' content-addressed store (ADR 24).
    return evidence_files(services.settings)


def _tender_documents(services: Services) -> EvidenceIntake:
    # Staged as the quality mark's evidence: the same checks, the same store.
    return staged_intake(services.settings, _tender_files(services))


def _projections(settings: Settings) -> Sequence[Projection]:
    return [
        BuyersProjection(),
        ListingsProjection(),
        ClarificationsProjection(),
        TendersProjection(),
        ContractsProjection(),
        MatchingProjection(),
        OcdsProjection(settings.public_url),
        OpportunitiesProjection(),
        ImpactProjection(),
        QuoteRequestsProjection(),
    ]


def _followers(settings: Settings) -> Sequence[Projection]:
    return [
        TenderNoticeWriter(settings.public_url),
        AwardNoticeWriter(settings.public_url),
        AlertFollower(settings.public_url),
        QuoteNoticeWriter(settings.public_url),
    ]


MARKETPLACE = ContextDeclaration(
    name="marketplace",
    log=LOG,
    application=_application,
    controllers=(
        *listings.CONTROLLERS,
        *buyers.CONTROLLERS,
        *clarifications.CONTROLLERS,
        *tenders.CONTROLLERS,
        *evaluation.CONTROLLERS,
        *contracts.CONTROLLERS,
        *closure_days.CONTROLLERS,
        *matching.CONTROLLERS,
        *ocds.CONTROLLERS,
        *opportunities.CONTROLLERS,
        *alerts.CONTROLLERS,
        *impact.CONTROLLERS,
        *impact_proxies.CONTROLLERS,
    ),
    projections=_projections,
    followers=_followers,
    # Outside opportunities (issue 16): `tradehall import ocds FILE`, and the polled feed.
    commands=OCDS_IMPORT_COMMANDS,
    clock_jobs=(poll_ocds_feed, queue_alert_digests),
    clock_ticks=(ocds_feed_tick, alert_digest_tick),
    dependencies={"tender_documents": _tender_documents, "tender_files": _tender_files},
)
