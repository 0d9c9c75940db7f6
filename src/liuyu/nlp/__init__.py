"""Text understanding, Chinese first and offline: tokens, sentiment, intent, entities, retrieval."""
