"""robolearn: a robotics skill-library learner with correction feedback.

Importing the package registers its Gymnasium environments (``robolearn/Tabletop-v0`` and one
id per task family) and nothing heavier: pybullet loads when an environment is made.
"""

from robolearn.tasks.registration import register_envs

__version__ = "0.1.0"

register_envs()
