"""The app's I/O: thin wrappers that turn cloud APIs into facts and actions for the core."""
