"""GitHub webhook receiver: verifies deliveries and records each review request as a PullRequestReview resource."""
