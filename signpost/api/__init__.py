"""The JSON API of use cases that cross domains: thin routes over `signpost.flows` (an edge, like `web`)."""
