"""Release notes (reno) are well-formed."""

import glob

import yaml

SECTIONS = {'prelude', 'features', 'issues', 'upgrade', 'deprecations',
            'critical', 'security', 'fixes', 'other'}


def test_release_notes_use_reno_sections():
    notes = glob.glob('releasenotes/notes/*.yaml')
    assert notes
    for path in notes:
        with open(path) as note_file:
            note = yaml.safe_load(note_file)
        assert set(note) <= SECTIONS, path
        for section, entries in note.items():
            if section == 'prelude':
                assert isinstance(entries, str)
            else:
                assert entries and all(isinstance(entry, str)
                                       for entry in entries)
