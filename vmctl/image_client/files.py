"""File steps shared by the image store (API side) and the image client
(compute side): remove a file that may be gone, make a rename durable."""

import os


def remove_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
