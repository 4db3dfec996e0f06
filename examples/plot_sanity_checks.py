"""
Sanity-checking an embedding: distortions and the most distorted pairs
======================================================================

After embedding, look at the distribution of distortions: if most are small
and a few are large, the few large ones point at pairs the embedding could not
honour. Inspect those pairs as you would inspect a model's mistakes.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

import skmde

digits = load_digits()
mde = skmde.preserve_neighbors(
    digits.data, random_state=0, repulsive_penalty=None, attractive_penalty="quadratic"
)
mde.embed()
print(f"average distortion {float(mde.average_distortion()):.4f}")

# %%
# The cumulative distribution of the distortions:
mde.distortions_cdf()
plt.show()

# %%
# The five most distorted neighbour pairs, side by side:
pairs, distortions = mde.high_distortion_pairs()
fig, axes = plt.subplots(5, 2, figsize=(3, 7))
for row, (i, j) in enumerate(pairs[:5].tolist()):
    for col, item in enumerate((i, j)):
        axes[row, col].imshow(digits.images[item], cmap="gray_r")
        axes[row, col].set_title(f"#{item}: {digits.target[item]}", fontsize=8)
        axes[row, col].axis("off")
fig.tight_layout()
plt.show()
