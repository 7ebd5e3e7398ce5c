"""The database layer. Only vmctl-api, vmctl-conductor and vmctl-scheduler
import it; the compute agent and virt drivers never do (a test enforces it).
"""
