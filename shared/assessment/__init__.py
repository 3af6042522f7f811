"""Assessment: requirement checks, guest checks through SSM, and right-sizing."""
