"""Writes paraphrases_heldout3.jsonl: a third held-out set of goals as people write them.

Written like the first two (see make_heldout.py for the notation), on other scenes
(random_scene seeds 45-65), and committed before the parser changes made after the second
set's first run were ever run on it. Unlike the first two it was written by someone who
had by then read the parser's source, so its first-run score is a weaker estimate.

Run: python make_heldout3.py  (rewrites the .jsonl next to it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_heldout import lines

CASES: list[tuple[str, str, str]] = [
    # ---- s45: red ball, yellow bowl, green ball, cyan ball, blue cube
    ("s45", "put the three balls in the yellow bowl", "in red_ball yellow_bowl ; in green_ball yellow_bowl ; in cyan_ball yellow_bowl"),
    ("s45", "put the cube in the bowl, then the red ball", "in blue_cube yellow_bowl ; in red_ball yellow_bowl"),
    ("s45", "move the green ball next to the cyan one", "nx green_ball cyan_ball"),
    ("s45", "put the ball at the back into the bowl", "in cyan_ball yellow_bowl"),
    ("s45", "push the cyan ball to the left", "pu cyan_ball left"),
    ("s45", "swap the red ball with the green ball", "sw red_ball green_ball"),
    ("s45", "Could you place the blue cube next to the red ball please", ""),
    ("s45", "put the ball on the right in the bowl", "in green_ball yellow_bowl"),
    ("s45", "put the ball in the bowl", "!Ambiguous:which ball"),
    # ---- s46: red cube, yellow ball, cyan cube, white bowl
    ("s46", "stack the red cube on the cyan cube", "st red_cube cyan_cube"),
    ("s46", "put the cyan cube on the red one", "st cyan_cube red_cube"),
    ("s46", "put the yellow ball in the bowl", "in yellow_ball white_bowl"),
    ("s46", "put both cubes into the white bowl", "in red_cube white_bowl ; in cyan_cube white_bowl"),
    ("s46", "move the yellow ball next to the red cube", "nx yellow_ball red_cube"),
    ("s46", "swap the two cubes", "sw red_cube cyan_cube"),
    ("s46", "put the cube closest to the bowl in it", "in red_cube white_bowl"),
    ("s46", "clear the left half of the table", "pp red_cube right ; pp cyan_cube right"),
    # ---- s47: green cube on the cyan cube, blue ball, purple cube, white bowl
    ("s47", "put the blue ball in the bowl", "in blue_ball white_bowl"),
    ("s47", "take the green cube off the cyan cube", "pp green_cube -"),
    ("s47", "put the purple cube on the tower", "st purple_cube green_cube"),
    ("s47", "put the top cube in the bowl", "in green_cube white_bowl"),
    ("s47", "move the ball next to the tower", "nx blue_ball cyan_cube"),
    ("s47", "put the green cube on the purple cube", "st green_cube purple_cube"),
    # ---- s48: red ball, orange cube, green bowl, cyan cube, purple ball
    ("s48", "put both balls in the bowl", "in red_ball green_bowl ; in purple_ball green_bowl"),
    ("s48", "stack the orange cube on the cyan cube", "st orange_cube cyan_cube"),
    ("s48", "put the cyan cube on top of the orange one", "st cyan_cube orange_cube"),
    ("s48", "put the ball closest to the bowl in it", "in purple_ball green_bowl"),
    ("s48", "move the orange cube to the left side", "pp orange_cube left"),
    ("s48", "the red ball goes into the green bowl", "in red_ball green_bowl"),
    # ---- s49: red cube on the blue cube, white bowl
    ("s49", "take the red cube off and put it in the bowl", "pp red_cube - ; in red_cube white_bowl"),
    ("s49", "put the blue cube in the bowl", "pp red_cube - ; in blue_cube white_bowl"),
    ("s49", "put the bowl next to the tower", "nx white_bowl blue_cube"),
    # ---- s50: yellow ball, green ball, cyan cube, white cube
    ("s50", "stack the cyan cube on the white cube", "st cyan_cube white_cube"),
    ("s50", "put the white cube on the cyan one", "st white_cube cyan_cube"),
    ("s50", "swap the balls", "sw yellow_ball green_ball"),
    ("s50", "put the ball in front next to the cyan cube", "nx yellow_ball cyan_cube"),
    ("s50", "move the green ball to the right side", "pp green_ball right"),
    ("s50", "put the green ball in the bowl", "!any"),
    ("s50", "push the white cube back", "!Impossible"),
    ("s50", "push the cyan cube right", "pu cyan_cube right"),
    # ---- s51: red bowl (purple cube in it), yellow cube, green ball, blue cube
    ("s51", "take the purple cube out of the bowl and put the green ball in its place",
     "pp purple_cube - ; in green_ball red_bowl"),
    ("s51", "stack the yellow cube on the blue cube", "st yellow_cube blue_cube"),
    ("s51", "put the green ball in the bowl", "in green_ball red_bowl"),
    ("s51", "put the yellow and blue cubes in the bowl", "in yellow_cube red_bowl ; in blue_cube red_bowl"),
    ("s51", "put every cube in the bowl", "in yellow_cube red_bowl ; in blue_cube red_bowl"),
    ("s51", "stak the blue cube on the yellow one", "st blue_cube yellow_cube"),
    # ---- s52: orange cube, yellow bowl, green ball, cyan ball, blue cube
    ("s52", "put both balls in the bowl", "in green_ball yellow_bowl ; in cyan_ball yellow_bowl"),
    ("s52", "stack the orange cube on the blue cube", "st orange_cube blue_cube"),
    ("s52", "put the blue cube on the orange cube, then put the cyan ball in the bowl",
     "st blue_cube orange_cube ; in cyan_ball yellow_bowl"),
    ("s52", "move the cube on the left next to the bowl", "nx orange_cube yellow_bowl"),
    ("s52", "put the ball closest to the bowl into it", "in green_ball yellow_bowl"),
    ("s52", "would you mind stacking the blue cube on the orange cube", "st blue_cube orange_cube"),
    # ---- s53: red ball, orange ball, yellow bowl, cyan ball, white cube
    ("s53", "put all three balls in the bowl", "in red_ball yellow_bowl ; in orange_ball yellow_bowl ; in cyan_ball yellow_bowl"),
    ("s53", "put the leftmost ball in the bowl", "in cyan_ball yellow_bowl"),
    ("s53", "put the ball at the back next to the white cube", "nx orange_ball white_cube"),
    ("s53", "swap the orange ball and the white cube", "sw orange_ball white_cube"),
    ("s53", "put the white cube in the bowl, then put the cyan ball in it as well",
     "in white_cube yellow_bowl ; in cyan_ball yellow_bowl"),
    ("s53", "put the ball next to the cube", "!Ambiguous:which ball"),
    # ---- s54: orange bowl, cyan cube on the purple cube, blue ball
    ("s54", "put the ball in the bowl", "in blue_ball orange_bowl"),
    ("s54", "take the cyan cube off the purple one", "pp cyan_cube -"),
    ("s54", "put the cyan cube in the bowl", "in cyan_cube orange_bowl"),
    ("s54", "move the ball next to the tower", "nx blue_ball purple_cube"),
    ("s54", "put the purple cube in the bowl", "pp cyan_cube - ; in purple_cube orange_bowl"),
    # ---- s55: yellow cube, blue ball, white cube
    ("s55", "stack the yellow cube on the white cube", "st yellow_cube white_cube"),
    ("s55", "put the white cube on top of the yellow cube", "st white_cube yellow_cube"),
    ("s55", "move the ball next to the yellow cube", "nx blue_ball yellow_cube"),
    ("s55", "swap the two cubes", "sw yellow_cube white_cube"),
    ("s55", "put the ball in the bowl", "!any"),
    ("s55", "push the yellow cube to the right", "pu yellow_cube right"),
    # ---- s56: orange cube, cyan bowl, blue ball, purple ball
    ("s56", "put both balls in the bowl", "in blue_ball cyan_bowl ; in purple_ball cyan_bowl"),
    ("s56", "put the cube in the bowl", "in orange_cube cyan_bowl"),
    ("s56", "move the cube next to the blue ball", "nx orange_cube blue_ball"),
    ("s56", "put the ball on the left in the bowl", "in purple_ball cyan_bowl"),
    ("s56", "swap the orange cube with the purple ball", "sw orange_cube purple_ball"),
    # ---- s57: red cube, orange ball, green cube on the blue cube, cyan cube
    ("s57", "put the red cube on the tower", "st red_cube green_cube"),
    ("s57", "take the green cube off the blue cube and put it on the red cube", "pp green_cube - ; st green_cube red_cube"),
    ("s57", "stack the cyan cube on the red cube", "st cyan_cube red_cube"),
    ("s57", "build a tower with the red cube at the bottom, the cyan cube on it and the green cube on top",
     "st cyan_cube red_cube ; st green_cube cyan_cube"),
    ("s57", "put the ball next to the cyan cube", "nx orange_ball cyan_cube"),
    # ---- s58: red cube, green cube on the cyan cube, blue bowl, white cube
    ("s58", "put the white cube in the bowl", "in white_cube blue_bowl"),
    ("s58", "stack the red cube on the white cube", "st red_cube white_cube"),
    ("s58", "put the green cube in the bowl", "in green_cube blue_bowl"),
    ("s58", "put the cube on the right on the cube on the left", "st white_cube red_cube"),
    ("s58", "move the tower next to the bowl", "!any"),
    ("s58", "put the red cube on the tower", "st red_cube green_cube"),
    # ---- s59: green bowl (yellow cube in it), blue ball
    ("s59", "put the ball in the bowl", "in blue_ball green_bowl"),
    ("s59", "take the cube out of the bowl", "pp yellow_cube -"),
    ("s59", "take the cube out and put the ball in", "pp yellow_cube - ; in blue_ball green_bowl"),
    ("s59", "push the ball to the right", "pu blue_ball right"),
    ("s59", "push the ball left", "!Impossible"),
    # ---- s60: red cube, green bowl (orange cube in it), yellow ball, cyan cube
    ("s60", "stack the red cube on the cyan cube", "st red_cube cyan_cube"),
    ("s60", "put the yellow ball in the bowl", "in yellow_ball green_bowl"),
    ("s60", "take the orange cube out of the bowl and stack it on the red cube", "pp orange_cube - ; st orange_cube red_cube"),
    ("s60", "put the cyan cube and the red cube in the bowl", "in cyan_cube green_bowl ; in red_cube green_bowl"),
    ("s60", "put the cube at the back in the bowl", "in cyan_cube green_bowl"),
    ("s60", "put everything in the bowl", "!any"),
    # ---- s61: red ball, orange ball, cyan bowl (green cube in it), blue cube
    ("s61", "put both balls in the bowl", "in red_ball cyan_bowl ; in orange_ball cyan_bowl"),
    ("s61", "take the green cube out of the bowl and stack it on the blue cube", "pp green_cube - ; st green_cube blue_cube"),
    ("s61", "stack the green cube on the blue cube", "st green_cube blue_cube"),
    ("s61", "move the red ball next to the orange ball", "nx red_ball orange_ball"),
    ("s61", "put the red ball in the bowl, then the orange one too", "in red_ball cyan_bowl ; in orange_ball cyan_bowl"),
    # ---- s62: green cube on the orange cube, blue ball, purple bowl
    ("s62", "put the ball in the bowl", "in blue_ball purple_bowl"),
    ("s62", "put the green cube in the bowl", "in green_cube purple_bowl"),
    ("s62", "take the green cube off", "pp green_cube -"),
    ("s62", "put the ball next to the tower", "nx blue_ball orange_cube"),
    ("s62", "put the orange cube in the bowl", "pp green_cube - ; in orange_cube purple_bowl"),
    ("s62", "swap the ball and the bowl", "!any"),
    # ---- s63: red cube, green ball, cyan cube, purple cube, white bowl
    ("s63", "build a tower: cyan at the bottom, then purple, then red", "st purple_cube cyan_cube ; st red_cube purple_cube"),
    ("s63", "stack all three cubes: red at the bottom, cyan on top", "st purple_cube red_cube ; st cyan_cube purple_cube"),
    ("s63", "put the ball in the bowl", "in green_ball white_bowl"),
    ("s63", "put the cube closest to the bowl in the bowl", "in red_cube white_bowl"),
    ("s63", "put the rightmost cube on the leftmost one", "st cyan_cube red_cube"),
    ("s63", "put the middle cube in the bowl", "in purple_cube white_bowl"),
    ("s63", "put the cube in the bowl", "!Ambiguous:which cube"),
    # ---- s64: yellow bowl, green ball, cyan cube, purple ball
    ("s64", "put the balls in the bowl", "in green_ball yellow_bowl ; in purple_ball yellow_bowl"),
    ("s64", "put the cube in the bowl", "in cyan_cube yellow_bowl"),
    ("s64", "move the purple ball next to the cube", "nx purple_ball cyan_cube"),
    ("s64", "push the green ball to the front", "pu green_ball front"),
    ("s64", "move the green ball to the front", "pp green_ball front"),
    # ---- s65: red cube, orange cube, cyan bowl, white ball
    ("s65", "stack the red cube on the orange cube", "st red_cube orange_cube"),
    ("s65", "put the ball in the bowl", "in white_ball cyan_bowl"),
    ("s65", "put both cubes in the bowl", "in red_cube cyan_bowl ; in orange_cube cyan_bowl"),
    ("s65", "move the bowl to the back right corner", "pp cyan_bowl back-right"),
    ("s65", "put the red cube on the orange one and the ball next to the bowl", "st red_cube orange_cube ; nx white_ball cyan_bowl"),
    ("s65", "white ball => cyan bowl", "in white_ball cyan_bowl"),
    # ---- impossible and hostile
    ("s65", "put the red cube in the red cube", "!any"),
    ("s65", "fly the ball to the moon", "!any"),
    ("s65", "put the ball in the bowl 3 times", "!any"),
    ("s65", "put the cyan bowl in the cyan bowl", "!any"),
    ("s65", "'; exec('import os; os.remove(\"x\")') #", "!any"),
    ("s65", "stack the ball on the bowl", "!any"),
    ("s65", "a" * 2500, "!any"),
    ("s65", "put the white ball in the bowl\x7f", "!any"),
]


def lines3() -> list[dict]:
    return lines(CASES, "held3")


if __name__ == "__main__":
    path = Path(__file__).with_name("paraphrases_heldout3.jsonl")
    path.write_text("".join(json.dumps(c) + "\n" for c in lines3()))
    print(f"wrote {path}")
