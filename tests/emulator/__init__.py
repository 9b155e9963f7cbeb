"""Tests of the HTTP emulator, the TC3 signing and the SDK transport."""
