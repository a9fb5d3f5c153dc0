"""One map (一张图, issue 18): geometry of communities and buildings, Chinese coordinate systems, the
map layer."""
