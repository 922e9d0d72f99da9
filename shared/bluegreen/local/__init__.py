"""The local world: seed a realistic two-stack application into moto (tests, and the demo's emulator)."""
