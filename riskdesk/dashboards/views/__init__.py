"""The dashboard pages: the book's (portfolio, roll rates, vintages, expected loss) and the desk's activity (collections, compliance)."""
