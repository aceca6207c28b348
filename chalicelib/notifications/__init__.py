"""In-app notifications: messages for one user of the firm (security events such as a locked account)."""
