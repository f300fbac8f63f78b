"""Third-party web applications the tests start on loopback, each as its own process."""
