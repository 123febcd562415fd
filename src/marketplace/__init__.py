"""The marketplace context: who buys (buyers verified by staff), what members offer (service
listings); tenders, bids and awards follow by analogy. Pure domain and its Application."""
