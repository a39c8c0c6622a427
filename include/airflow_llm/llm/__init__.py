"""Model access: endpoints and routing, a retrying client, tokens, prices and a response cache."""
