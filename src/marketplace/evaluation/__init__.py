"""Evaluating a tender's opened bids, lot by lot: scoring, abnormally low prices, the award,
the assessment summaries, the award notice and its standstill."""
