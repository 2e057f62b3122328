"""The console's panes, one Screen each."""
