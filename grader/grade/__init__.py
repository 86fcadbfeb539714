"""Grade: execute submissions in fresh, limited kernels and score them into the gradebook.

``discover`` finds submissions, ``sanitize`` prepares a notebook the way ``nbgrader autograde``
does, ``worker`` executes one notebook in a fresh kernel, ``scheduler`` runs workers in
parallel, ``record`` is the single writer of the gradebook, and ``run`` ties them together.
"""
