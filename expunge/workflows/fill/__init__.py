"""Free-space wipes of mounted filesystems."""
