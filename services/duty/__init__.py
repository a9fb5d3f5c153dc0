"""Red property (红色物业): party organisation, duty posts, roster, shifts, check-ins, activities."""
