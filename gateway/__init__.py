"""A Python Apollo Federation v2 gateway: supergraph -> query plans -> execution -> HTTP."""
