"""HTML renderings shared by the front doors (the API, the desk, the customer's document link):
the electronic policy document and the claims statistics charts."""
