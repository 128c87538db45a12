"""SQL of the query API: static texts over the read models of the current generation."""
