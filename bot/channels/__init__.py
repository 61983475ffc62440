"""Thin adapters that turn a channel's input into engine calls and replies into its output."""
