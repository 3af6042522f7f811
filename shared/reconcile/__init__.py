"""A reconcile pass: bulk reads into a snapshot, decide per VM, act; and the ASR job watcher."""
