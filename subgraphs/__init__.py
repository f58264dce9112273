"""The four Digital Product Passport subgraphs and what they share."""
