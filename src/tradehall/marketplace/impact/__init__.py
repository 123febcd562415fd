"""The impact reports (issue 17): the ledger's totals as views, CSV and an SVG chart."""
