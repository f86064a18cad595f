"""Effect sizes, pooling, certainty of evidence, risk of bias."""
