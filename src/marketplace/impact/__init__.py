"""The social-value ledger's pure side (issue 17): the proxy-value table that gives social value a
£ value, versioned by the date each version takes effect."""
