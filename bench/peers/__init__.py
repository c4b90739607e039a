"""The implementations learnstore is measured against."""
