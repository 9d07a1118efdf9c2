"""What happens to stored data when Keystone deletes its owner: a user,
or the project or domain of a shared layer (API 1.4).

- :mod:`.keystone` asks Keystone whether an owner still exists;
- :mod:`.purge` deletes an owner's data and announces it;
- :mod:`.listener` hears Keystone's deletion notifications
  (``cloudprefs-keystone-listener``); ``cloudprefs-manage
  purge_deleted_users`` catches up on the ones it missed.
"""
