"""Passwords: Argon2id hashes, the cost from the settings.

A stored hash records the cost it was made with; a login whose hash was made
with a lower cost than the settings' re-hashes the password
(myapp.users.services.authenticate).
"""

import argon2


class Passwords:
    """Argon2id hashing with the cost from the settings."""

    def __init__(self, time_cost, memory_kib, parallelism):
        self.hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        # Verified against when the email is unknown, so that a login takes as
        # long whether or not the account exists.
        self.decoy_hash = self.hasher.hash("decoy password, never matches")

    def hash(self, password):
        return self.hasher.hash(password)

    def verify(self, password_hash, password):
        """True when ``password`` matches; ``password_hash`` None runs the decoy."""
        try:
            return self.hasher.verify(password_hash or self.decoy_hash, password) and bool(
                password_hash
            )
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def needs_rehash(self, password_hash):
        return self.hasher.check_needs_rehash(password_hash)
