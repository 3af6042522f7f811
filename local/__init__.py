"""Stand-ins for the cloud on one machine: Azurite, moto server, (later) the ASR simulator, the demo.

Nothing under local/ is deployed or imported by production code.
"""
