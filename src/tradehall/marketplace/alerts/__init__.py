"""Alerts of saved searches (issue 17): the follower that records them and queues their mail,
and the daily digest."""
