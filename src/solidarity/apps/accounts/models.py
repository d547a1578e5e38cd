"""People use django.contrib.auth; roles are groups created by migration 0001."""
