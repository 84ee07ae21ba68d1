"""Framework integrations, each an optional extra (`pip install 'strataml[integrations]'`):
`lightning` (a Lightning logger), `transformers` (a Trainer callback) and `sklearn` (models in the
skops format). Importing this package imports no framework; each module imports its own."""
