"""The alerts screen (``:alerts``): the list, an alert's details, and the rules tab."""
