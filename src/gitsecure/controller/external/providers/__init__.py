"""Secret providers: one module per backend, each imported only when a store of its kind is used."""
