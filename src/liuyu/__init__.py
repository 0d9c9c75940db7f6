"""liuyu: the customer micro-circulation platform."""
