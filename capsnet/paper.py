"""The constants of Sabour, Frosst & Hinton (2017) that several modules use.

Kept apart from Keras code so that the command line can show them as
defaults before a backend is chosen.
"""

# Margin loss (equation 4): present classes pushed above M_PLUS, absent ones
# below M_MINUS, whose term is down-weighted by DOWN_WEIGHT.
M_PLUS = 0.9
M_MINUS = 0.1
DOWN_WEIGHT = 0.5

# Reconstruction: 0.0005 x the sum of squared errors over 784 pixels, which is
# 0.392 x their mean (the form the losses use, for images of any size).
LAM_RECON = 0.392
