"""What runs on the instances: the guest-check scripts and our SSM documents."""
