"""The render noise: a fixed function of position, unit Gaussian, the same in a crop as in the frame."""

from __future__ import annotations

import numpy as np

from model.noise import noise_field, position_noise


def test_noise_is_unit_gaussian_and_uncorrelated_between_neighbours_and_channels() -> None:
    field = noise_field(256, 512, 2)
    assert field.shape == (256, 512, 2) and field.dtype == np.float32
    for channel in range(2):
        values = field[..., channel]
        assert abs(float(values.mean())) < 0.02 and abs(float(values.std()) - 1) < 0.02
        assert abs(float(np.mean(np.abs(values) < 1)) - 0.6827) < 0.01  # the Gaussian's 1σ share
        right = np.corrcoef(values[:, 1:].ravel(), values[:, :-1].ravel())[0, 1]
        down = np.corrcoef(values[1:].ravel(), values[:-1].ravel())[0, 1]
        assert abs(right) < 0.02 and abs(down) < 0.02
    assert abs(np.corrcoef(field[..., 0].ravel(), field[..., 1].ravel())[0, 1]) < 0.02


def test_noise_depends_on_position_and_seed_only() -> None:
    field = noise_field(64, 96, 1)
    ys, xs = np.array([[3, 40, 63]]).T, np.array([[0, 95, 17, 17]])
    assert np.array_equal(position_noise(ys, xs, 1), field[ys, xs])
    assert np.array_equal(noise_field(64, 96, 1), field)
    assert np.array_equal(noise_field(128, 200, 1)[:64, :96], field)  # a bigger frame extends it
    assert not np.allclose(noise_field(64, 96, 1, seed=1), field)
    assert not field.flags.writeable  # shared between renders: nobody may write into it
