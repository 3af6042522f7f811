"""Assessment, pure: requirement checks, the guest-check output parser, OS support, right-sizing."""
