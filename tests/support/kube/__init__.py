"""A Kubernetes API server for tests: kmock's emulator held to the API conventions, served over HTTP.

``KubeCluster`` (cluster.py) runs ``StrictEmulator`` (emulator.py) on 127.0.0.1; ``ControllerProcess``
(controller_proc.py) runs ``gitsecure controller run`` against it; ``python -m tests.support.kube``
runs one standalone for the demo and the bench.
"""
