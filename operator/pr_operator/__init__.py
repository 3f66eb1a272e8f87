"""kopf operator: admits queued PullRequestReview resources into review Jobs within the configured limit."""
